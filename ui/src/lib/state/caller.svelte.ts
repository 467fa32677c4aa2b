// Who the API token is (GET /api/whoami): a viewer's write controls are shown disabled, saying
// why, instead of failing with a 403 when pressed. Until the answer comes (or when it fails) every
// control is offered and the API decides.
import { apiGet } from '../api.js';

export const NEEDS_ADMIN = 'needs an admin API token (this one may only read)';

class Caller {
  role = $state<'admin' | 'viewer' | null>(null);

  get canWrite(): boolean {
    return this.role !== 'viewer';
  }

  /** Attributes of a write control: `{...caller.write}` on a button, select or form field. */
  get write(): { disabled?: true; title?: string } {
    return this.canWrite ? {} : { disabled: true, title: NEEDS_ADMIN };
  }

  async refresh(): Promise<void> {
    try {
      this.role = (await apiGet<{ role: 'admin' | 'viewer' }>('/api/whoami')).role;
    } catch {
      this.role = null;
    }
  }
}

export const caller = new Caller();
