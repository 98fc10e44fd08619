/** A live line chart (uPlot): one line per release, time on the x axis; created again only when its lines change. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];
export const colourOf = (release: number) => PALETTE[release % PALETTE.length]!;

export interface ChartProps {
  title: string;
  unit: string;
  /** One per line, in the order of data[1..]. */
  releases: number[];
  /** data[0]: times (seconds); data[i]: the values of releases[i-1] (null: no value then). */
  data: (number | null)[][];
  testId?: string;
}

export function Chart({ title, unit, releases, data, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = releases.join(',');

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { label: unit, size: 56 }],
      series: [{}, ...releases.map((r) => ({ label: `#${r}`, stroke: colourOf(r), width: 2, spanGaps: false }))],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Only a new set of lines needs a new chart; new data is set by the effect below.
  }, [key, unit]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}
