// A tiny element builder: h('button', { testid: 'x', onclick }, 'text').
type Child = Node | string | null | undefined | false;
export interface Attrs {
  [name: string]: unknown;
  testid?: string;
  class?: string;
}

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'autofocus']);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const props: [string, unknown][] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'testid') el.setAttribute('data-testid', String(v));
    else if (k === 'class') el.className = String(v);
    else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (PROPS.has(k)) {
      props.push([k, v]);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  // Properties last, so a <select>'s value finds its options.
  for (const [k, v] of props) (el as unknown as Record<string, unknown>)[k] = v;
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T | null {
  return root.querySelector<T>(`[data-testid="${id}"]`);
}

/** Turns a settings field path into the testid fragment: "connection.host" -> "connection-host". */
export function fieldId(field: string): string {
  return field.replace(/\./g, '-');
}
