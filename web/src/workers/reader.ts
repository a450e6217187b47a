/**
 * A shard-reading worker (`lib/corpus/readerpool.ts`): fetches, decodes and filters shards,
 * and posts their rows back packed in transferable buffers.
 */
import { ReadHandler } from "../lib/corpus/readerpool";
import type { ReadRequest, ReadResponse } from "../lib/corpus/readerpool";
import { answerRequests } from "../lib/workerpool";

const handler = new ReadHandler();

answerRequests<ReadRequest, ReadResponse>((request) => handler.answer(request));
