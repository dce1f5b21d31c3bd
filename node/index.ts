/** What the Node room offers other code: transports that need Node. */
export * from './transport/index.ts';
