// Request ids: the one a load balancer set, or an OpenAI-style `req_<hex>`.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const INBOUND_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ID_BYTES = 16;
/** Request ids are cut from a block of random bytes: one getrandom call per 256 ids, not one each. */
const ID_BLOCK = 256 * ID_BYTES;
let idBlock = Buffer.alloc(0);
let idOffset = 0;

/** Keeps an id set by a load balancer (HAProxy passes x-request-id); otherwise a new one. */
export function genRequestId(req: IncomingMessage): string {
  const inbound = req.headers['x-request-id'];
  if (typeof inbound === 'string' && INBOUND_REQUEST_ID.test(inbound)) return inbound;
  return newRequestId();
}

export function newRequestId(): string {
  if (idOffset + ID_BYTES > idBlock.length) {
    idBlock = randomBytes(ID_BLOCK);
    idOffset = 0;
  }
  const id = `req_${idBlock.toString('hex', idOffset, idOffset + ID_BYTES)}`;
  idOffset += ID_BYTES;
  return id;
}
