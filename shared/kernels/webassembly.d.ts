/**
 * The part of the WebAssembly JavaScript API this project uses. Node has it as a global, but
 * TypeScript declares it only in the DOM and web-worker libraries, whose other globals clash with
 * Node's.
 */
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    /** A SharedArrayBuffer for a shared memory; a new object after each grow(). */
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    /** Adds `pages` pages of 64 KiB; returns the previous size in pages. Throws RangeError past the maximum. */
    grow(pages: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
