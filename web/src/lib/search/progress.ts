/**
 * A search's progress reports (`SearchOptions.onProgress`): the shard counts as before,
 * plus the stage and one line saying what the search is doing, so that a page shows more
 * than "Reading 31 / 31 shards…" while it scores and ranks.
 */
import type { SearchProgress, SearchStage } from "../types";

const count = (n: number): string => n.toLocaleString("en-US");

/** The line of a report: its `text`, or (an older emitter's) the shard counts. */
export function progressText(p: SearchProgress): string {
  if (p.text !== undefined) return p.text;
  const failed = p.failed ? `, ${p.failed} failed` : "";
  return `Reading ${p.shardsDone} / ${p.shardsTotal} shards${failed} · ${count(p.candidates)} candidates…`;
}

/** A report of `stage` (its line made from the counts and `what`). */
export function progressAt(
  stage: SearchStage,
  counts: Pick<SearchProgress, "shardsDone" | "shardsTotal" | "failed" | "candidates">,
  what = "",
): SearchProgress {
  const n = count(counts.candidates);
  const failed = counts.failed ? `, ${counts.failed} failed` : "";
  let text: string;
  switch (stage) {
    case "reading":
      text = `Reading and decoding shards: ${counts.shardsDone} / ${counts.shardsTotal}${failed} · ${n} candidates…`;
      break;
    case "gathering":
      text = `Gathering ${n} candidates from ${counts.shardsDone - counts.failed} shards…`;
      break;
    case "examples":
      text = `Finding the examples among ${n} candidates…`;
      break;
    case "scoring":
      text = `Scoring ${n} candidates${what ? ` (${what})` : ""}…`;
      break;
    case "ranking":
      text = `Ranking ${n} candidates${what ? ` (${what})` : ""}…`;
      break;
    case "rows":
      text = `Building ${n} result rows…`;
      break;
  }
  return { ...counts, stage, text };
}
