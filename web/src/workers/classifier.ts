/**
 * The classifier worker (`lib/search/classifierpool.ts`): picks the background rows of a
 * classifier search and fits the model, off the page's thread.
 */
import { answerClassifierRequest } from "../lib/search/classifierpool";
import type { ClassifierRequest, ClassifierResponse } from "../lib/search/classifierpool";
import { answerRequests } from "../lib/workerpool";

answerRequests<ClassifierRequest, ClassifierResponse>((request) => answerClassifierRequest(request));
