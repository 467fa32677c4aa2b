// The header badge: unacknowledged alerts, polled while the app is open and refreshed at once after
// an acknowledgement.
import { apiGet } from '../api.js';

class AlertBadge {
  #count = $state(0);
  #timer: ReturnType<typeof setInterval> | null = null;

  get count(): number {
    return this.#count;
  }

  async refresh(): Promise<void> {
    try {
      const s = await apiGet<{ unacknowledged: number }>('/api/alerts/summary');
      this.#count = s.unacknowledged;
    } catch {
      // the badge stays as it was; pages show errors
    }
  }

  /** Starts polling; returns the stop function (for an $effect). */
  watch(everyMs = 5000): () => void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), everyMs);
    return () => {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
    };
  }
}

export const alertBadge = new AlertBadge();
