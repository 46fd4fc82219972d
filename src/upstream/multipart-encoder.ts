// Writes a multipart/form-data body piece by piece (RFC 7578), so an upload can be re-encoded for the
// backend while it streams: fields, then a file header, the file's bytes as they come, and the close.
import { randomBytes } from 'node:crypto';

const CRLF = '\r\n';

export class MultipartEncoder {
  readonly boundary = `----hunze${randomBytes(16).toString('hex')}`;

  get contentType(): string {
    return `multipart/form-data; boundary=${this.boundary}`;
  }

  field(name: string, value: string): Buffer {
    return Buffer.from(
      `--${this.boundary}${CRLF}Content-Disposition: form-data; name="${quote(name)}"${CRLF}${CRLF}${value}${CRLF}`,
      'utf8',
    );
  }

  /** Precedes the file's bytes; `fileEnd()` follows them. */
  fileStart(name: string, filename: string, contentType: string): Buffer {
    return Buffer.from(
      `--${this.boundary}${CRLF}Content-Disposition: form-data; name="${quote(name)}"; filename="${quote(filename)}"${CRLF}` +
        `Content-Type: ${contentType}${CRLF}${CRLF}`,
      'utf8',
    );
  }

  fileEnd(): Buffer {
    return Buffer.from(CRLF);
  }

  close(): Buffer {
    return Buffer.from(`--${this.boundary}--${CRLF}`);
  }
}

/** The escaping browsers apply to names in Content-Disposition (WHATWG HTML "multipart/form-data encoding"). */
function quote(value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}
