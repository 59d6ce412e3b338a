// Sign in and sign up (/account/sign-in/, /account/sign-up/): the form posts its fields as the
// API's credentials to its route (data-credentials-form), signs the tab in and goes back where
// the driver was (the page's `next`, a path of this site that the server checked).
import { api } from "./api.js";
import { clearErrors, pageConfig, showErrors } from "./forms.js";
import { signIn } from "./session.js";

const form = document.querySelector("[data-credentials-form]");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const credentials = {};
  for (const input of form.querySelectorAll("input[name]")) {
    credentials[input.name] = input.name === "email" ? input.value.trim() : input.value;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const answer = await api(form.dataset.credentialsForm, {
    method: "POST",
    auth: false,
    body: { credentials },
  });
  button.disabled = false;
  if (!answer.ok) {
    // Sign-up's mismatch comes as password_error: it belongs to the confirmation.
    showErrors(form, answer.data, { password_error: "password_confirmation" });
    return;
  }
  signIn(answer.data);
  location.assign(pageConfig().next || "/account/");
});
