/**
 * Adds up the mutation reports of `npm run mutate` runs
 * (reports/mutation/*.json, one per scope): per module and per folder, the
 * mutants killed (a test failed or timed out), survived and reached by no
 * test, and the score (killed / (killed + survived + no coverage)).
 *
 *   npm run mutate:score [-- --survivors]    (--survivors lists every survivor)
 *
 * A run still going is read from its event recorder (events-<scope>/): the
 * mutants tested so far.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';

const REPORTS = 'reports/mutation';

const Mutant = z.object({
  id: z.string(),
  mutatorName: z.string(),
  replacement: z.string().optional(),
  status: z.string(),
  location: z.object({ start: z.object({ line: z.number(), column: z.number() }) }),
});
const TestedEvent = Mutant.extend({ fileName: z.string() });
const Report = z.object({
  files: z.record(z.string(), z.object({ source: z.string(), mutants: z.array(Mutant) })),
});
type Mutant = z.infer<typeof Mutant>;

interface Tally {
  killed: number;
  survived: number;
  noCoverage: number;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED: Record<string, keyof Tally> = { Survived: 'survived', NoCoverage: 'noCoverage' };

function score(t: Tally): string {
  const valid = t.killed + t.survived + t.noCoverage;
  return valid === 0 ? '-' : `${((100 * t.killed) / valid).toFixed(1)} %`;
}

function main(): void {
  if (!existsSync(REPORTS)) {
    console.error(`no ${REPORTS}/: run npm run mutate (or MUTATE=driver/link npm run mutate) first`);
    process.exit(1);
  }
  const listSurvivors = process.argv.includes('--survivors');
  // The newest report of each file wins (a scope's run replaces what an
  // earlier, wider run said about the same file).
  const byFile = new Map<string, { at: number; mutants: Mutant[]; source: string }>();
  for (const name of readdirSync(REPORTS).filter((n) => n.endsWith('.json'))) {
    const path = join(REPORTS, name);
    const report = Report.parse(JSON.parse(readFileSync(path, 'utf8')));
    const at = statSync(path).mtimeMs;
    for (const [file, { mutants, source }] of Object.entries(report.files)) {
      const key = relative(process.cwd(), file) || file;
      const seen = byFile.get(key);
      if (!seen || seen.at < at) byFile.set(key, { at, mutants, source });
    }
  }
  for (const dir of readdirSync(REPORTS).filter((n) => n.startsWith('events-'))) {
    const path = join(REPORTS, dir);
    const report = join(REPORTS, `${dir.slice('events-'.length)}.json`);
    const at = statSync(path).mtimeMs;
    if (existsSync(report) && statSync(report).mtimeMs >= at) continue;
    const tested = new Map<string, Mutant[]>();
    for (const name of readdirSync(path).filter((n) => n.endsWith('-onMutantTested.json'))) {
      const event = TestedEvent.parse(JSON.parse(readFileSync(join(path, name), 'utf8')));
      const key = relative(process.cwd(), event.fileName);
      tested.set(key, [...(tested.get(key) ?? []), event]);
    }
    for (const [key, mutants] of tested) byFile.set(key, { at, mutants, source: readFileSync(key, 'utf8') });
  }
  const folders = new Map<string, Tally>();
  const total: Tally = { killed: 0, survived: 0, noCoverage: 0 };
  const rows: string[] = [];
  for (const [file, { mutants, source }] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    const t: Tally = { killed: 0, survived: 0, noCoverage: 0 };
    const lines = source.split('\n');
    for (const m of mutants) {
      if (DETECTED.has(m.status)) t.killed++;
      else if (UNDETECTED[m.status]) {
        t[UNDETECTED[m.status]!]++;
        if (listSurvivors) {
          const line = lines[m.location.start.line - 1]?.trim() ?? '';
          console.log(
            `${file}:${m.location.start.line} ${m.status} ${m.mutatorName} ${JSON.stringify(m.replacement ?? '')} | ${line.slice(0, 120)}`,
          );
        }
      }
    }
    const folder = file.split('/').slice(0, 2).join('/');
    const f = folders.get(folder) ?? { killed: 0, survived: 0, noCoverage: 0 };
    for (const k of ['killed', 'survived', 'noCoverage'] as const) {
      f[k] += t[k];
      total[k] += t[k];
    }
    folders.set(folder, f);
    rows.push(
      `| \`${file}\` | ${t.killed + t.survived + t.noCoverage} | ${t.killed} | ${t.survived} | ${t.noCoverage} | ${score(t)} |`,
    );
  }
  console.log('| module | mutants | killed | survived | no test reaches it | score |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  for (const [folder, t] of [...folders].sort(([a], [b]) => a.localeCompare(b)))
    console.log(
      `| **${folder}** | ${t.killed + t.survived + t.noCoverage} | ${t.killed} | ${t.survived} | ${t.noCoverage} | **${score(t)}** |`,
    );
  console.log(
    `| **all** | ${total.killed + total.survived + total.noCoverage} | ${total.killed} | ${total.survived} | ${total.noCoverage} | **${score(total)}** |`,
  );
}

main();
