/** An Alertmanager v4 webhook body, as prometheus/alertmanager's notify/webhook sends it. */
export function alertmanager(alerts: { name: string; fingerprint: string; status?: 'firing' | 'resolved'; severity?: string; startsAt?: string }[], status: 'firing' | 'resolved' = 'firing', common: Record<string, string> = {}) {
  return {
    version: '4', groupKey: '{}:{alertname="HighErrorRate"}', truncatedAlerts: 0, status, receiver: 'failsmall',
    groupLabels: { alertname: alerts[0]?.name ?? 'x' }, commonLabels: { alertname: alerts[0]?.name ?? 'x', severity: alerts[0]?.severity ?? 'critical', ...common },
    commonAnnotations: { summary: 'proxy 5xx above 5%' }, externalURL: 'http://alertmanager:9093',
    alerts: alerts.map((a) => ({
      status: a.status ?? status, labels: { alertname: a.name, instance: a.fingerprint, severity: a.severity ?? 'critical', ...common }, annotations: { summary: 'proxy 5xx above 5%' },
      startsAt: a.startsAt ?? '2026-11-26T11:20:00Z', endsAt: (a.status ?? status) === 'resolved' ? '2026-11-26T11:40:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph', fingerprint: a.fingerprint,
    })),
  };
}
