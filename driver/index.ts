/**
 * dma-bridge driver: memory-safe DMA on an STM32 bridge board, from any
 * JavaScript environment (no Node or DOM imports).
 */
export * from './api/index.ts';
export * from './board/index.ts';
export * from './chip/index.ts';
export * from './link/index.ts';
export * from './primitives/index.ts';
export * from './protocol/index.ts';
export * from './transport/index.ts';
