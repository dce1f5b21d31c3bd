/** uPlot and its styles, in a chunk of their own: loaded when the first numbers arrive. */
import 'uplot/dist/uPlot.min.css';

export { default as UPlot } from 'uplot';
