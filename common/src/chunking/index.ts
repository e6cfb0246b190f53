export { cdcChunks, compileCdcOptions, findCut, DEFAULT_CDC, type CdcOptions, type CdcParams } from './fastcdc.ts';
export { fixedChunks, checkFixedSize, DEFAULT_FIXED_CHUNK_SIZE, type FixedChunkerOptions } from './fixed.ts';
export { GEAR, GEAR_LABEL } from './gear.ts';
export { isAllZero } from './zero.ts';
export { ChunkerOptionsError, type ByteSource, type Chunk } from './source.ts';
