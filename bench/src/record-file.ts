import { closeSync, openSync, writeSync } from 'node:fs';

/** 24-byte records (step, value, ts) appended to a file through a 1.5 MB buffer. */
export class RecordFile {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(24 * 65_536);
  private at = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  add(step: number, value: number, ts: number): void {
    this.buf.writeDoubleLE(step, this.at);
    this.buf.writeDoubleLE(value, this.at + 8);
    this.buf.writeDoubleLE(ts, this.at + 16);
    this.at += 24;
    if (this.at === this.buf.length) {
      writeSync(this.fd, this.buf, 0, this.at);
      this.at = 0;
    }
  }

  close(): void {
    writeSync(this.fd, this.buf, 0, this.at);
    closeSync(this.fd);
  }
}
