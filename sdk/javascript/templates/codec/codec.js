// A codec (world `codec`, wit/codec.wit): a line echo server. Every line a peer sends (bytes up
// to and including "\n") is written back to it; the line `quit` is answered with `bye` and the
// connection is closed. The host owns the socket and makes one `Connection` per accepted peer;
// one instance serves many connections, one call at a time.
//
// Build: npm run build   (writes codec.wasm; see docs/sdk-javascript.md)

import { codecError, log, output, text, utf8 } from "sluice-sdk";

const NEWLINE = 0x0a;
const BYE = utf8("bye\n");

class Connection {
  // Bytes of the line not yet complete: the host cuts the stream anywhere.
  #partial = new Uint8Array(0);
  // The longest line we buffer: the host's `frame-bytes-max`, the bound it sets on any frame.
  #lineBytesMax;
  #peer;

  constructor(info) {
    this.#lineBytesMax = info.frameBytesMax;
    this.#peer = info.peer;
  }

  onData(data) {
    const bytes = concat(this.#partial, data);
    let start = 0;
    for (let end; (end = bytes.indexOf(NEWLINE, start)) >= 0; start = end + 1) {
      if (isQuit(bytes.subarray(start, end + 1))) {
        log.info(`${this.#peer} quit`);
        return output({ write: concat(bytes.subarray(0, start), BYE), close: "peer quit" });
      }
    }
    this.#partial = bytes.slice(start);
    if (this.#partial.length > this.#lineBytesMax) {
      return codecError(`a line longer than ${this.#lineBytesMax} bytes`);
    }
    return output({ write: bytes.subarray(0, start) });
  }

  // Called only for waits this codec armed, and it arms none: an echo answers at once.
  onWake(_token, _timedOut) {
    return output();
  }
}

export const protocol = {
  info() {
    return { name: "template-codec-js", version: "0.1.0" };
  },
  Connection,
};

function concat(a, b) {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function isQuit(line) {
  const said = text(line);
  return said === "quit\n" || said === "quit\r\n";
}
