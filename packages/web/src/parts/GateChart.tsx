import { roundValue } from '@failsmall/core/browser';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { verdictWords, type GateSeries } from '../view/gate-series.ts';

const HEIGHT = 180;
const MIN_SPAN_S = 10;
const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];
const COLOURS = { value: '#1d4ed8', baseline: '#4b5563', threshold: '#b91c1c', fail: '#b91c1c', pass: '#15803d' };
/** A split gate's lines, one per label value: each its own colour and dash (styles.css .key-group-N matches). */
const GROUP_LINES: readonly { stroke: string; dash: number[] }[] = [
  { stroke: '#7c3aed', dash: [] }, { stroke: '#0f766e', dash: [2, 3] }, { stroke: '#c2410c', dash: [7, 3] },
  { stroke: '#be185d', dash: [1, 3] }, { stroke: '#4d7c0f', dash: [7, 3, 1, 3] }, { stroke: '#0369a1', dash: [4, 4] },
];
const groupLine = (i: number) => GROUP_LINES[i % GROUP_LINES.length] ?? { stroke: '#000', dash: [] };

/**
 * The plotted data: x, value, baseline, threshold, the failed and passed verdicts as points on
 * the value, then a split gate's line per label value.
 */
function plotData(s: GateSeries): uPlot.AlignedData {
  return [s.x, s.value, s.baseline, s.threshold,
    s.value.map((v, i) => (s.statuses[i] === 'fail' ? v ?? s.threshold[i] ?? null : null)),
    s.value.map((v, i) => (s.statuses[i] === 'pass' ? v : null)),
    ...s.groups.map((g) => g.values)];
}

/**
 * One gate's chart (uPlot): the cohort's value against the baseline and the threshold over time,
 * failed verdicts as large red points and passed ones as small green points. The words under it
 * (the legend, the latest verdict's sentence) carry the same meaning without colour.
 */
export function GateChart({ series }: { series: GateSeries }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const points = (colour: string, size: number): uPlot.Series => ({ stroke: colour, fill: colour, paths: () => null, points: { show: true, size, stroke: colour, fill: colour } });
    plot.current = new uPlot({
      width: Math.max(320, el.clientWidth), height: HEIGHT, legend: { show: false }, cursor: { show: false },
      // At least ten seconds wide: one evaluation alone is not drawn across years.
      scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - MIN_SPAN_S), max + 1] } },
      // Whole seconds and up, as the clock reads: evaluations are seconds apart, never milliseconds.
      axes: [{ incrs: TIME_STEPS_S, space: 70, values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString()) }, { size: 60, values: (_u, ticks) => ticks.map((t) => roundValue(t)) }],
      series: [
        {},
        { label: 'cohort value', stroke: COLOURS.value, width: 2 },
        { label: 'baseline', stroke: COLOURS.baseline, width: 1, dash: [4, 4] },
        { label: 'threshold', stroke: COLOURS.threshold, width: 1, dash: [8, 4] },
        { label: 'failed', ...points(COLOURS.fail, 10) },
        { label: 'passed', ...points(COLOURS.pass, 5) },
        ...series.groups.map((g, i) => ({ label: `${g.label}=${g.value}`, stroke: groupLine(i).stroke, dash: groupLine(i).dash, width: 2, spanGaps: true })),
      ],
    }, plotData(series), el);
    return () => { plot.current?.destroy(); plot.current = null; };
    // Made once per gate (and again if a split gate meets a new label value); new evaluations only set its data (below).
  }, [series.key, series.groups.length]);
  useEffect(() => { plot.current?.setData(plotData(series)); }, [series]);

  const fails = series.statuses.filter((s) => s === 'fail').length;
  const v = series.latest;
  // A baseline comparison has no fixed threshold: its test says how far from the baseline is too far.
  const limit = v.test === undefined ? `threshold ${v.direction === 'min' ? 'at least' : 'at most'} ${roundValue(v.threshold)}` : 'judged against the baseline';
  const summary = `${series.gate} on stage ${series.stage}: ${series.x.length} evaluations, ${fails} failed; latest value ${v.value === null ? 'none' : roundValue(v.value)}, ${limit}, baseline ${v.baseline === null ? 'none' : roundValue(v.baseline)}`;
  return (
    <figure className="gate-chart">
      <div ref={box} className="chart" role="img" aria-label={summary} />
      <figcaption>
        <ul className="legend">
          <li><span className="key key-value" aria-hidden="true" /> cohort value</li>
          <li><span className="key key-baseline" aria-hidden="true" /> baseline (nodes outside the cohort)</li>
          {v.test === undefined ? <li><span className="key key-threshold" aria-hidden="true" /> {limit}</li> : null}
          <li><span className="key key-fail" aria-hidden="true" /> failed verdict</li>
          <li><span className="key key-pass" aria-hidden="true" /> passed verdict</li>
          {series.groups.map((g, i) => <li key={g.value}><span className={`key key-group-${i % GROUP_LINES.length}`} aria-hidden="true" /> {g.label}={g.value}</li>)}
        </ul>
        {series.groups.length > 0 ? (
          <table className="groups">
            <caption>Split by {series.groups[0]?.label}: each value's latest verdict</caption>
            <thead><tr><th scope="col">{series.groups[0]?.label}</th><th scope="col">verdict</th><th scope="col">last verdicts, oldest first</th></tr></thead>
            <tbody>
              {series.groups.map((g) => {
                const last = [...g.statuses].reverse().find((s) => s !== null) ?? null;
                return (
                  <tr key={g.value}>
                    <th scope="row">{g.value}</th>
                    <td className={last ? `verdict-${last}` : ''}>{last ? verdictWords(last) : 'not judged'}</td>
                    <td className="trend">{g.statuses.slice(-20).map((s) => (s === 'fail' ? '✗' : s === 'pass' ? '✓' : s === null ? ' ' : '?')).join('')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </figcaption>
    </figure>
  );
}
