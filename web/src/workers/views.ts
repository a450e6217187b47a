/**
 * The view worker (`lib/search/viewpool.ts`): ranks candidates and does the neighbour
 * work of the outlier, surprise and gradient views, off the page's thread.
 */
import { answerViewRequest } from "../lib/search/viewpool";
import type { ViewRequest, ViewResponse } from "../lib/search/viewpool";
import { answerRequests } from "../lib/workerpool";

answerRequests<ViewRequest, ViewResponse>((request) => answerViewRequest(request));
