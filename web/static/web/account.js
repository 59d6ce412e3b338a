// The account page (/account/): the email and whether it is confirmed (resend the link),
// change password, sign out.
import { api, firstError } from "./api.js";
import { clearErrors, showErrors } from "./forms.js";
import { forget, signedInEmail, token } from "./session.js";

const $ = (selector) => document.querySelector(selector);
const form = $("[data-change-password-form]");

async function showVerification() {
  const answer = await api("/me/");
  if (!answer.ok) return; // an older server without /me/: the email from sign-in stands
  $("[data-account-email]").textContent = answer.data.email;
  const verified = answer.data.email_verified;
  const badge = $("[data-verified-badge]");
  badge.textContent = verified ? "Confirmed" : "Not confirmed yet";
  badge.className = `badge ${verified ? "ok" : "warn"}`;
  $("[data-unverified]").hidden = verified;
  $("[data-verification]").hidden = answer.data.email_verification === "none" && !verified;
}

$("[data-resend]").addEventListener("click", async () => {
  const status = $("[data-resend-status]");
  const answer = await api("/resend-verification/", { method: "POST" });
  status.textContent = answer.ok
    ? "Sent: check your email for the new link."
    : firstError(answer.data, "The link cannot be sent now. Try again later.");
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  $("[data-password-changed]").hidden = true;
  const answer = await api("/change-pw/", {
    method: "PATCH",
    body: {
      credentials: {
        password: form.password.value,
        new_password: form.new_password.value,
        new_password_confirmed: form.new_password_confirmed.value,
      },
    },
  });
  if (!answer.ok) {
    showErrors(form, answer.data, { password_error: "new_password_confirmed" });
    return;
  }
  form.reset();
  $("[data-password-changed]").hidden = false;
});

$("[data-sign-out]").addEventListener("click", async () => {
  const answer = await api("/sign-out/", { method: "DELETE" });
  if (!answer.ok && answer.status !== 401) {
    $("[data-sign-out-error]").textContent = firstError(answer.data);
    return;
  }
  forget();
  location.assign("/");
});

if (token()) {
  $("[data-account-email]").textContent = signedInEmail();
  $("[data-account]").hidden = false;
  showVerification();
} else {
  $("[data-signed-out]").hidden = false;
}
