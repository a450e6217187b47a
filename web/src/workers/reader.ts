/**
 * A shard-reading worker (`lib/corpus/readerpool.ts`): fetches, decodes and filters shards,
 * and posts their rows back packed in transferable buffers.
 */
import { ReadHandler } from "../lib/corpus/readerpool";
import type { ReadRequest, ReadResponse } from "../lib/corpus/readerpool";

const handler = new ReadHandler();
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<ReadRequest>) => void) | null;
  postMessage(message: ReadResponse, transfer: Transferable[]): void;
};

scope.onmessage = (ev: MessageEvent<ReadRequest>): void => {
  void handler.answer(ev.data).then(({ response, transfer }) => scope.postMessage(response, transfer));
};
