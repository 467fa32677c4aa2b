// The bytes of one partial frame, kept as the chunks they arrived in and joined once when the frame is
// complete: appending is O(piece), so a frame in n pieces costs O(frame), never the O(n²) of
// Buffer.concat on every read.
//
// Small pieces are copied into a shared block instead of being kept one Buffer each: a sender dribbling
// one byte per TCP segment must not turn a 64 KiB frame into 65,536 Buffer objects (megabytes of heap).

/** Pieces shorter than this are copied into the current block. */
const SMALL = 1024;
const BLOCK = 8192;

export class ChunkQueue {
  private chunks: Buffer[] = [];
  /** Small pieces are copied to block[blockStart, blockLen); bytes before blockStart belong to sealed chunks. */
  private block: Buffer | undefined;
  private blockStart = 0;
  private blockLen = 0;
  /** Bytes held. */
  length = 0;

  /**
   * Appends `piece`. With `keepView` the piece may be kept as a view into its buffer (the caller knows
   * the frame completes before that buffer could be outgrown); otherwise a piece that is only part of
   * its buffer is copied, so a few bytes of partial frame do not pin a whole 64 KiB read buffer.
   */
  append(piece: Buffer, keepView: boolean): void {
    const n = piece.length;
    if (n === 0) return;
    this.length += n;
    if (n < SMALL) {
      if (this.block === undefined || this.blockLen + n > this.block.length) {
        this.sealBlock();
        this.block = Buffer.allocUnsafe(BLOCK);
        this.blockStart = 0;
        this.blockLen = 0;
      }
      piece.copy(this.block, this.blockLen);
      this.blockLen += n;
      return;
    }
    this.sealBlock();
    this.chunks.push(keepView || piece.length === piece.buffer.byteLength ? piece : Buffer.from(piece));
  }

  /** Buffers the held bytes are spread over (what a join would touch). */
  get segments(): number {
    return this.chunks.length + (this.block !== undefined && this.blockLen > this.blockStart ? 1 : 0);
  }

  /** The bytes held, joined, and the queue emptied. */
  take(): Buffer {
    this.sealBlock();
    const out = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
    this.clear();
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.blockStart = this.blockLen;
    this.length = 0;
  }

  private sealBlock(): void {
    if (this.block !== undefined && this.blockLen > this.blockStart) {
      // The sealed bytes may be handed out inside a frame: later pieces only go after them.
      this.chunks.push(this.block.subarray(this.blockStart, this.blockLen));
      this.blockStart = this.blockLen;
    }
  }
}
