/** The driver's Timers on a virtual board's clock (see node/virtual/virtual-timers.ts). */
export { virtualTimers } from '../../node/virtual/virtual-timers.ts';
