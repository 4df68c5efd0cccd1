export interface Bucket {
  label: string;
  value: number;
}

/** A bar chart in plain SVG (no chart library): one bar per bucket, with a text table for screen readers. */
export function BarChart({ title, buckets, unit }: { title: string; buckets: Bucket[]; unit: string }) {
  const width = 560;
  const height = 140;
  const max = Math.max(1, ...buckets.map((bucket) => bucket.value));
  const step = width / Math.max(1, buckets.length);
  return (
    <figure style={{ margin: 0 }}>
      <figcaption>
        <strong>{title}</strong> <span className="muted">(max {formatNumber(max)} {unit})</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height + 18}`} width="100%" role="img" aria-label={`${title}: ${buckets.map((b) => `${b.label} ${formatNumber(b.value)}`).join(', ')}`}>
        <line x1={0} y1={height} x2={width} y2={height} stroke="#6b7280" />
        {buckets.map((bucket, index) => {
          const barHeight = (bucket.value / max) * (height - 4);
          return (
            <g key={bucket.label + index}>
              <rect x={index * step + 1} y={height - barHeight} width={Math.max(1, step - 2)} height={barHeight} fill="#0b5cad">
                <title>{`${bucket.label}: ${formatNumber(bucket.value)} ${unit}`}</title>
              </rect>
              {index % Math.ceil(buckets.length / 8) === 0 ? (
                <text x={index * step + 2} y={height + 14}>
                  {bucket.label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
