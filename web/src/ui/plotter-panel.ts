/**
 * A serial plotter: numbers in the lines USART1 receives (`temp=23.5
 * adc=1234`, or columns of numbers) drawn live with uPlot, one series per
 * field, against seconds since connecting. The newest samples are kept
 * (bounded); the chart is redrawn a few times a second at most. Pause
 * freezes the picture (samples are still kept); Export saves them as CSV.
 * uPlot loads with the first sample.
 */
import { LineFields, type Sample } from '../app/plot-fields.ts';
import { button, h } from './dom.ts';
import { atMostEvery } from './frame.ts';
import type { UPlot } from './uplot-loader.ts';

/** Samples kept (per series, aligned on one time axis). */
export const PLOT_SAMPLES = 5_000;
const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#be185d', '#4b5563'];
/** More fields than this on a line are not drawn (the CSV has them all). */
const MAX_SERIES = 8;

type PlotModule = typeof import('./uplot-loader.ts');

export class PlotterPanel {
  readonly element: HTMLElement;
  private readonly chartBox = h('div', { class: 'plot-chart', id: 'plot-chart' });
  private readonly summary = h('p', { id: 'plot-summary', class: 'hint', 'aria-live': 'polite' });
  private readonly pause = h('input', { type: 'checkbox', id: 'plot-pause' });
  private readonly exportButton = button('Export CSV', {
    id: 'plot-export',
    class: 'secondary',
    disabled: true,
  });
  private readonly clearButton = button('Clear', { id: 'plot-clear', class: 'secondary' });
  private readonly names: string[] = [];
  private times: number[] = [];
  private columns: (number | null)[][] = [];
  private total = 0;
  private chart: UPlot | undefined;
  private chartSeries = 0;
  private loading: Promise<PlotModule> | undefined;
  private readonly fields = new LineFields((s) => this.sample(s));
  private readonly draw = atMostEvery(100, () => void this.render());

  constructor(
    private readonly clock: () => number,
    private readonly load: () => Promise<PlotModule> = () => import('./uplot-loader.ts'),
  ) {
    this.pause.addEventListener('change', () => this.draw());
    this.exportButton.addEventListener('click', () => this.export());
    this.clearButton.addEventListener('click', () => this.clear());
    this.element = h(
      'div',
      { class: 'plotter' },
      h(
        'div',
        { class: 'toolbar' },
        h('div', { class: 'inline-check' }, this.pause, h('label', { for: 'plot-pause' }, 'Pause')),
        this.clearButton,
        this.exportButton,
      ),
      this.chartBox,
      this.summary,
    );
    this.showSummary();
    new ResizeObserver(() => this.resize()).observe(this.chartBox);
  }

  /** Received bytes: every complete line with numbers adds a sample. */
  push(bytes: Uint8Array): void {
    this.fields.push(bytes);
  }

  /** The series drawn and the samples kept, for the summary and for tests. */
  get state(): { series: string[]; samples: number } {
    return { series: [...this.names], samples: this.times.length };
  }

  clear(): void {
    this.times = [];
    this.columns = this.names.map(() => []);
    this.total = 0;
    this.draw();
  }

  private sample(sample: Sample): void {
    const t = this.clock() / 1000;
    for (const name of sample.keys()) {
      if (this.names.includes(name) || this.names.length >= MAX_SERIES) continue;
      this.names.push(name);
      this.columns.push(this.times.map(() => null));
    }
    this.times.push(t);
    for (const [i, name] of this.names.entries()) this.columns[i]!.push(sample.get(name) ?? null);
    if (this.times.length > PLOT_SAMPLES) {
      const drop = this.times.length - PLOT_SAMPLES;
      this.times.splice(0, drop);
      for (const c of this.columns) c.splice(0, drop);
    }
    this.total++;
    this.exportButton.disabled = false;
    this.loading ??= this.load();
    this.draw();
  }

  private async render(): Promise<void> {
    this.showSummary();
    if (this.pause.checked || this.times.length === 0 || !this.loading) return;
    const { UPlot } = await this.loading;
    const data = [this.times, ...this.columns] as unknown as NonNullable<
      ConstructorParameters<typeof UPlot>[1]
    >;
    if (!this.chart || this.chartSeries !== this.names.length) {
      this.chart?.destroy();
      this.chartBox.replaceChildren();
      const { width, height } = this.size();
      this.chart = new UPlot(
        {
          width,
          height,
          scales: { x: { time: false } },
          axes: [
            { label: 'time (s)', stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } },
            { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } },
          ],
          series: [
            { label: 's' },
            ...this.names.map((name, i) => ({ label: name, stroke: COLOURS[i % COLOURS.length]!, width: 2 })),
          ],
        },
        data,
        this.chartBox,
      );
      this.chartSeries = this.names.length;
    } else this.chart.setData(data);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.chartBox.clientWidth), height: 220 };
  }

  private resize(): void {
    if (this.chart && this.chartBox.clientWidth > 0) this.chart.setSize(this.size());
  }

  private showSummary(): void {
    this.summary.textContent =
      this.total === 0
        ? 'Numbers in received lines are plotted here: name=value pairs (temp=23.5 adc=1234) or columns of numbers.'
        : `${this.total} line${this.total === 1 ? '' : 's'} plotted, ${this.names.join(', ')}` +
          (this.times.length < this.total ? `; the newest ${this.times.length} kept` : '') +
          (this.pause.checked ? ' (paused)' : '');
  }

  private export(): void {
    const rows = [['time_s', ...this.names].join(',')];
    this.times.forEach((t, i) => {
      rows.push([t.toFixed(3), ...this.columns.map((c) => (c[i] === null ? '' : String(c[i])))].join(','));
    });
    const url = URL.createObjectURL(new Blob([`${rows.join('\n')}\n`], { type: 'text/csv' }));
    const link = h('a', { href: url, download: 'dma-bridge-plot.csv' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
