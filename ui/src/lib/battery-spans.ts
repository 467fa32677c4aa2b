// Charging and plugged-in spans of a battery series. The handset logs battery_status only when the
// status changes (the guide's example: one line per plug and unplug, battery_level lines between),
// so a point without a status keeps the last reported one: a handset charging for two hours has one
// "Charging" report at its start, and the span lasts until the next report that says otherwise.

/**
 * Index pairs [start, end] of the runs where `state` holds, with a state of null (not reported at
 * that point) carried forward from the point before. A run ends at the point that reports the state
 * off; a run still on at the last point ends there.
 */
export function stateSpans<P>(points: readonly P[], state: (p: P) => boolean | null): [number, number][] {
  const spans: [number, number][] = [];
  let on = false;
  let start = 0;
  for (let i = 0; i < points.length; i++) {
    const s = state(points[i] as P);
    if (s === null || s === on) continue;
    if (s) start = i;
    else spans.push([start, i]);
    on = s;
  }
  if (on) spans.push([start, points.length - 1]);
  return spans;
}
