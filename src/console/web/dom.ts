// Tiny DOM helpers. Text from the API only ever goes in through textContent or attribute values set with
// setAttribute (never innerHTML), so nothing the API returns can become markup.

type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  attrs?: Record<string, string | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {}))
    if (value !== undefined) element.setAttribute(name, value);
  for (const [type, listener] of Object.entries(props.on ?? {}))
    element.addEventListener(type, listener as EventListener);
  append(element, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`console markup lacks #${id}`);
  return element as T;
}

/** A table cell; numbers right-aligned. */
export function cell(content: Child, className?: string): HTMLTableCellElement {
  return h('td', { class: className }, content);
}

export function fillTable(table: HTMLTableElement, rows: HTMLTableRowElement[], emptyText: string): void {
  const body = table.tBodies[0]!;
  if (rows.length > 0) {
    body.replaceChildren(...rows);
    return;
  }
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  body.replaceChildren(h('tr', {}, h('td', { text: emptyText, attrs: { colspan: String(columns) } })));
}
