export {
  type DecodeError,
  type DecodeResult,
} from './result.js';
export * from './crc16.js';
export * from './space-packet.js';
export * from './time-codes.js';
export * from './pus.js';
export * from './security.js';
