// Small pieces the views share: a labelled drop-down, and polling an API
// endpoint while a view is shown.
import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";

export interface ChoiceOption {
  value: string;
  label: ComponentChildren;
  title?: string;
}

/** A label around a select of `options`; `onChange` gets the chosen value. */
export function Choice(props: {
  label: string;
  value: string;
  options: readonly ChoiceOption[];
  onChange: (value: string) => void;
  testId: string;
  disabled?: boolean;
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)} data-testid={props.testId} disabled={props.disabled}>
        {props.options.map((o) => (
          <option key={o.value} value={o.value} title={o.title}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Options whose label is their value. */
export const plainOptions = (values: readonly string[]): ChoiceOption[] => values.map((v) => ({ value: v, label: v }));

/**
 * Runs `load` at once and then every `periodMs` while the component is
 * mounted and `deps` are unchanged; `onValue` or `onError` hear of each
 * outcome, never after unmount.
 */
export function usePolling<T>(load: () => Promise<T>, periodMs: number, deps: readonly unknown[], onValue: (value: T) => void, onError: (err: unknown) => void): void {
  useEffect(() => {
    let stopped = false;
    const run = async () => {
      try {
        const value = await load();
        if (!stopped) onValue(value);
      } catch (err) {
        if (!stopped) onError(err);
      }
    };
    void run();
    const t = setInterval(() => void run(), periodMs);
    return () => {
      stopped = true;
      clearInterval(t);
    };
    // The caller names what load depends on.
  }, deps);
}
