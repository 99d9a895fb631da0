import { useEffect, useRef, useState, type FormEvent } from 'react';
import { failureFrom, type ApiFailure } from '../api/failure.ts';
import type { RolloutState } from '../api/types.ts';
import { useSession } from '../app/session.tsx';
import { actionsFor, type RolloutAction } from '../view/actions.ts';

/**
 * The commands this token may give the rollout now, each behind a confirmation that asks for a
 * reason (kept in the event log, as the CLI's --reason is). None for a viewer.
 */
export function Actions({ rollout, onDone }: { rollout: RolloutState; onDone: () => void }) {
  const { api, me } = useSession();
  const [asking, setAsking] = useState<RolloutAction | null>(null);
  const actions = actionsFor(rollout, me.grants);
  if (actions.length === 0 && !asking) return null;
  return (
    <section aria-labelledby="actions-title" className="actions">
      <h2 id="actions-title">Actions</h2>
      <div className="buttons">
        {actions.map((a) => <button key={a.type} type="button" className={a.type === 'abort' ? 'danger' : ''} onClick={() => setAsking(a)}>{a.label}</button>)}
      </div>
      {asking ? <Confirm action={asking} rollout={rollout} onClose={(done) => { setAsking(null); if (done) onDone(); }} post={(reason) => api.post(`/v1/rollouts/${encodeURIComponent(rollout.id)}/${asking.type}`, { reason })} /> : null}
    </section>
  );
}

function Confirm({ action, rollout, onClose, post }: { action: RolloutAction; rollout: RolloutState; onClose: (done: boolean) => void; post: (reason: string) => Promise<unknown> }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!reason.trim()) return;
    setBusy(true);
    try {
      await post(reason.trim());
      ref.current?.close();
      onClose(true);
    } catch (err) {
      setFailure(failureFrom(err));
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={() => onClose(false)}>
      <form onSubmit={submit}>
        <h2 id="confirm-title">{action.label} rollout {rollout.id}?</h2>
        <p>{action.consequence}</p>
        <label htmlFor="reason">Reason (kept in the event log)</label>
        <textarea id="reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={2000} rows={3} />
        {failure ? <p className="failure" role="alert">{failure.message} <code>{failure.code}</code>{failure.hint ? ` — ${failure.hint}` : ''}</p> : null}
        <div className="buttons">
          <button type="submit" className={action.type === 'abort' ? 'danger' : ''} disabled={busy || !reason.trim()}>{action.label}</button>
          <button type="button" onClick={() => { ref.current?.close(); onClose(false); }}>Cancel</button>
        </div>
      </form>
    </dialog>
  );
}
