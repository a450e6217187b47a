/**
 * A scoring worker: instantiates the WebAssembly popcount and RaBitQ kernels once and
 * scores the blocks of codes it is sent (`lib/search/scorerpool.ts`), transferring the scores back.
 */
import { WasmKernel } from "../lib/kernels/hamming";
import { sharedRabitqKernel } from "../lib/kernels/rabitq";
import { answerScoreRequest } from "../lib/search/scorerpool";
import type { HeldCodes, ScoreRequest, ScoreResponse } from "../lib/search/scorerpool";
import { answerRequests } from "../lib/workerpool";

let kernel: WasmKernel | null = null;
const held: HeldCodes = { key: null, bytes: null };
try {
  kernel = new WasmKernel();
} catch {
  kernel = null; // no WebAssembly: the pure-TS fallback
}

const rabitq = sharedRabitqKernel();

answerRequests<ScoreRequest, ScoreResponse>((request) => answerScoreRequest(request, kernel, held, rabitq));
