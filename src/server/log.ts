// The logger lives in core/log.ts (a leaf cortex/ and config/ may import too); re-exported here for server/ code.
export * from '../core/log.js';
