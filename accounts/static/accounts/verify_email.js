// The verification page after a link that expired or does not work: a signed-in tab asks
// for a new link (POST /resend-verification/) and says what happened.
import { api, firstError } from "../web/api.js";

const button = document.getElementById("resend-verification");
const status = document.getElementById("resend-status");

button?.addEventListener("click", async () => {
  button.disabled = true;
  const { ok, data } = await api("/resend-verification/", { method: "POST" });
  status.textContent = ok ? data.detail : firstError(data);
  button.disabled = ok;
});
