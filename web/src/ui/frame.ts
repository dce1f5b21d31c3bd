/**
 * Redraws coalesced to the display's frames: a view asks to be drawn as
 * often as data arrives, and draws at most once per animation frame, so a
 * burst of a thousand messages costs one layout, not a thousand.
 */

/** Returns a function that schedules `draw` for the next frame; calls before it runs are folded into one. */
export function onNextFrame(draw: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/** Whether a scrolling box shows its end (within a line), so new content should keep it there. */
export function scrolledToEnd(box: HTMLElement): boolean {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 24;
}

/**
 * Like onNextFrame, but no more often than every `intervalMs`: for views
 * whose whole content is redrawn (a dump of the newest bytes), where a few
 * redraws a second read as well as sixty and cost a fraction.
 */
export function atMostEvery(intervalMs: number, draw: () => void): () => void {
  let last = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const frame = onNextFrame(() => {
    last = performance.now();
    draw();
  });
  return () => {
    if (timer !== undefined) return;
    const wait = last + intervalMs - performance.now();
    if (wait <= 0) frame();
    else
      timer = setTimeout(() => {
        timer = undefined;
        frame();
      }, wait);
  };
}
