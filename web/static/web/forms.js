// Shows the API's validation errors next to the fields they name ({"field": ["message"]}),
// and the rest (non_field_errors, detail, password_error, ...) in the form's alert region.

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", input.dataset.describedby || "");
  }
  const alert = form.querySelector("[data-form-error]");
  if (alert) alert.textContent = "";
}

// `aliases` maps an API key to the input's name where they differ
// (e.g. {password_error: "password_confirmation"}).
export function showErrors(form, data, aliases = {}) {
  clearErrors(form);
  const unplaced = [];
  let first = null;
  for (const [key, value] of Object.entries(data || {})) {
    const message = Array.isArray(value) ? value.join(" ") : String(value);
    const input = form.elements.namedItem(aliases[key] || key);
    if (!input || !(input instanceof HTMLElement)) {
      unplaced.push(message);
      continue;
    }
    const error = document.createElement("p");
    error.className = "field-error";
    error.id = `${input.id || input.name}-error`;
    error.textContent = message;
    input.insertAdjacentElement("afterend", error);
    input.dataset.describedby ??= input.getAttribute("aria-describedby") || "";
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${input.dataset.describedby} ${error.id}`.trim());
    first ??= input;
  }
  const alert = form.querySelector("[data-form-error]");
  if (alert && unplaced.length) alert.textContent = unplaced.join(" ");
  (first || alert)?.focus?.();
}

export function pageConfig() {
  const node = document.getElementById("page-config");
  return node ? JSON.parse(node.textContent) : {};
}
