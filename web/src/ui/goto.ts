/**
 * "Go to": a place search box over the bundled (offline) list of places (`findPlaces`),
 * which also understands "lat, lng". An accessible combobox: arrows move through the
 * suggestions, Enter goes, Esc closes. The list (~0.4 MB) loads on first use, not with
 * the page.
 */
import type { Place } from "../lib/places";
import { el } from "./dom";

type PlacesModule = typeof import("../lib/places");
let placesModule: Promise<PlacesModule> | null = null;

function loadPlaces(): Promise<PlacesModule> {
  placesModule ??= import("../lib/places");
  return placesModule;
}

const LIMIT = 8;

/** "country", "state, India", "France" (a city), "" (a point). */
export function describe(p: Place): string {
  if (p.kind === "country") return "country";
  if (p.kind) return p.country ? `${p.kind}, ${p.country}` : p.kind;
  return p.country;
}

export class GotoBox {
  private readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private places: Place[] = [];
  private active = -1;

  constructor(
    container: HTMLElement,
    private readonly go: (place: Place) => void,
    /** Say something visible (a place that is not in the list). */
    private readonly say: (text: string) => void = () => undefined,
  ) {
    this.input = el("input", {
      id: "goto-input",
      type: "search",
      placeholder: "Place name or “lat, lng”",
      autocomplete: "off",
      spellcheck: "false",
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": "goto-list",
      "data-testid": "goto",
    });
    this.list = el("ul", { id: "goto-list", role: "listbox", class: "suggestions", hidden: true });
    const form = el(
      "form",
      { class: "goto", role: "search" },
      el("label", { for: "goto-input", class: "visually-hidden" }, "Go to a place"),
      this.input,
      el("button", { type: "submit", "aria-label": "Go" }, "Go"),
    );
    container.append(form, this.list);
    this.input.addEventListener("focus", () => void loadPlaces());
    this.input.addEventListener("input", () => void this.suggest());
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.choose(this.active >= 0 ? this.active : 0);
    });
  }

  private async suggest(): Promise<void> {
    const text = this.input.value.trim();
    const { findPlaces } = await loadPlaces();
    if (text !== this.input.value.trim()) return; // typed on meanwhile
    this.places = text ? findPlaces(text, LIMIT) : [];
    this.active = -1;
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.places.map((p, i) => {
        const option = el(
          "li",
          {
            id: `goto-option-${i}`,
            role: "option",
            "aria-selected": String(i === this.active),
          },
          el("span", {}, p.name),
          el("span", { class: "muted" }, ` ${describe(p)}`),
        );
        option.addEventListener("mousedown", (e) => {
          e.preventDefault();
          void this.choose(i);
        });
        return option;
      }),
    );
    const open = this.places.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", `goto-option-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (this.places.length === 0) return;
      e.preventDefault();
      const n = this.places.length;
      this.active = e.key === "ArrowDown" ? (this.active + 1) % n : (this.active - 1 + n) % n;
      this.render();
    } else if (e.key === "Escape" && !this.list.hidden) {
      e.preventDefault();
      e.stopPropagation();
      this.close();
    }
  }

  private async choose(index: number): Promise<void> {
    if (this.places.length === 0) await this.suggest();
    const place = this.places[index];
    if (!place) {
      const text = this.input.value.trim();
      const message = text
        ? `No place called “${text}” in the bundled list (cities, countries, states and provinces); check the spelling or type “lat, lng”.`
        : "Type a place name or “lat, lng”.";
      this.input.setCustomValidity(message);
      this.input.reportValidity();
      this.say(message);
      return;
    }
    this.input.setCustomValidity("");
    this.input.value = place.country ? `${place.name}, ${place.country}` : place.name;
    this.close();
    this.go(place);
  }

  private close(): void {
    this.places = [];
    this.active = -1;
    this.render();
  }
}
