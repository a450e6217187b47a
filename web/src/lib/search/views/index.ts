/** The seven views (see `terrabit.search.views`). */
export { change } from "./change";
export type { ChangeBy } from "./change";
export type { ViewOutput } from "./common";
export { gradient } from "./gradient";
export { heatmap } from "./heatmap";
export { outlier, referenceRows } from "./outlier";
export { surprise } from "./surprise";
export { histogram, threshold } from "./threshold";
export { topk } from "./topk";
