#!/usr/bin/env node
// The CLI is TypeScript run as is: tsx compiles each module as it loads, so
// there is no build step between editing the source and running the command.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
