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

export class GotoBox {
  private readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private places: Place[] = [];
  private active = -1;

  constructor(
    container: HTMLElement,
    private readonly go: (place: Place) => void,
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
          el("span", { class: "muted" }, p.country ? ` ${p.country}` : ""),
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
      this.input.setCustomValidity("No such place in the bundled list; try “lat, lng”.");
      this.input.reportValidity();
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
