/**
 * Every test that runs a virtual board runs it strict: after each test, any
 * strict-board report (a register the firmware touched unclocked, a pin not
 * routed, a misuse a peripheral model counted...) fails the test, naming
 * it. A test that provokes reports on purpose reads them and then clears
 * them (`vb.chip.strict.clear()`).
 */
import { afterAll, afterEach } from 'vitest';
import { formatStrictReports, onVirtualBoardCreated, type VirtualBoard } from '../../emulator/index.ts';

const boards: VirtualBoard[] = [];
const unsubscribe = onVirtualBoardCreated((board) => boards.push(board));

afterEach(() => {
  const found = boards.flatMap((b) => b.strictReports);
  for (const b of boards) b.chip.strict.clear();
  if (found.length > 0)
    throw new Error(
      `the strict virtual board reported what silicon would not accept:\n${formatStrictReports(found)}`,
    );
});

afterAll(() => {
  unsubscribe();
  boards.length = 0;
});
