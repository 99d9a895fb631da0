import { roundValue } from '@failsmall/core/browser';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { verdictWords, type GateSeries } from '../view/gate-series.ts';

const HEIGHT = 180;
const MIN_SPAN_S = 10;
const COLOURS = { value: '#1d4ed8', baseline: '#4b5563', threshold: '#b91c1c', fail: '#b91c1c', pass: '#15803d' };

/** The plotted data: x, value, baseline, threshold, then the failed and passed verdicts as points on the value. */
function plotData(s: GateSeries): uPlot.AlignedData {
  return [s.x, s.value, s.baseline, s.threshold,
    s.value.map((v, i) => (s.statuses[i] === 'fail' ? v ?? s.threshold[i] ?? null : null)),
    s.value.map((v, i) => (s.statuses[i] === 'pass' ? v : null))];
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
      axes: [{}, { size: 60, values: (_u, ticks) => ticks.map((t) => roundValue(t)) }],
      series: [
        {},
        { label: 'cohort value', stroke: COLOURS.value, width: 2 },
        { label: 'baseline', stroke: COLOURS.baseline, width: 1, dash: [4, 4] },
        { label: 'threshold', stroke: COLOURS.threshold, width: 1, dash: [8, 4] },
        { label: 'failed', ...points(COLOURS.fail, 10) },
        { label: 'passed', ...points(COLOURS.pass, 5) },
      ],
    }, plotData(series), el);
    return () => { plot.current?.destroy(); plot.current = null; };
    // Made once per gate; new evaluations only set its data (below).
  }, [series.key]);
  useEffect(() => { plot.current?.setData(plotData(series)); }, [series]);

  const fails = series.statuses.filter((s) => s === 'fail').length;
  const v = series.latest;
  const summary = `${series.gate} on stage ${series.stage}: ${series.x.length} evaluations, ${fails} failed; latest value ${v.value === null ? 'none' : roundValue(v.value)}, threshold ${v.direction === 'min' ? 'at least' : 'at most'} ${roundValue(v.threshold)}, baseline ${v.baseline === null ? 'none' : roundValue(v.baseline)}`;
  return (
    <figure className="gate-chart">
      <div ref={box} className="chart" role="img" aria-label={summary} />
      <figcaption>
        <ul className="legend">
          <li><span className="key key-value" aria-hidden="true" /> cohort value</li>
          <li><span className="key key-baseline" aria-hidden="true" /> baseline (nodes outside the cohort)</li>
          <li><span className="key key-threshold" aria-hidden="true" /> threshold ({v.direction === 'min' ? 'at least' : 'at most'} {roundValue(v.threshold)})</li>
          <li><span className="key key-fail" aria-hidden="true" /> failed verdict</li>
          <li><span className="key key-pass" aria-hidden="true" /> passed verdict</li>
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
