// The pay step of a reservation awaiting payment (`status == "pending_payment"`): the hold's
// countdown, then saving a card on the reservation's SetupIntent (charged when it ends), then
// the confirm route. The reservation page calls
//
//   const payment = mountPayment(container, reservation, { guestEmail });
//   container.addEventListener("payment-confirmed", ...); // the card is saved: reload it
//   container.addEventListener("hold-lapsed", ...);       // too late: the spot was released
//   payment.unmount();                                    // stops its timers, drops late answers
//
// With a Stripe publishable key (page config) the card is typed into Stripe's Payment Element
// and confirmed by Stripe.js, which also shows the bank's 3-D Secure challenge; without one (the
// sandbox) into a plain field posted to the sandbox's card route, which knows Stripe's test
// cards (docs/payments.md).
import { api, firstError } from "./api.js";
import { clearErrors, pageConfig, showErrors } from "./forms.js";
import { countdown, nyTime } from "./format.js";

const STRIPE_JS = "https://js.stripe.com/v3/";
// The sandbox's test cards (payments/gateways/sandbox.py) and what each does.
const TEST_CARDS = [
  ["4242 4242 4242 4242", "saved: the reservation is confirmed"],
  ["4000 0000 0000 0341", "saved, but declined when charged at the end"],
  ["4000 0000 0000 0002", "declined"],
  ["4000 0000 0000 9995", "declined: insufficient funds"],
  ["4000 0027 6000 3184", "needs the bank's authentication (3-D Secure)"],
];
// Stripe may take a moment to report a saved card (`processing`): ask again, a little later
// each time, before telling the driver to come back.
const CONFIRM_WAITS_MS = [500, 1000, 2000, 3000, 4000];
// A phone's clock may be wrong; the server's Date header sets the countdown right when it is
// off by more than this (the header has whole seconds only).
const SKEW_TOLERANCE_MS = 5000;

const MARKUP = `
<section class="card pay" aria-labelledby="{p}-title">
  <h2 id="{p}-title">Pay to keep this spot</h2>
  <div data-hold>
    <p class="hold" role="timer" aria-live="off">Held for you for <strong data-left></strong> more, until <span data-until></span>.</p>
    <p class="visually-hidden" aria-live="polite" data-announce></p>
  </div>
  <div data-card-step>
    <p class="hint">Your card is saved now and charged when the reservation ends, for the time used.</p>
    <form data-card-form novalidate>
      <div data-sandbox hidden>
        <label for="{p}-card">Card number (payment sandbox: test cards only, no money moves)</label>
        <input id="{p}-card" name="card_number" inputmode="numeric" autocomplete="off" spellcheck="false" aria-describedby="{p}-cards">
        <div id="{p}-cards" class="hint">Test cards:<ul class="test-cards" data-test-cards></ul></div>
      </div>
      <div data-stripe hidden><div data-payment-element></div></div>
      <p class="form-error" data-form-error role="alert" tabindex="-1"></p>
      <p class="notice warn" data-needs-action role="alert" tabindex="-1" hidden></p>
      <button type="submit" class="wide" data-submit disabled>Save card and confirm</button>
    </form>
  </div>
  <p class="notice ok" data-confirmed tabindex="-1" hidden>Card saved: your reservation is confirmed.</p>
  <div class="notice bad" data-lapsed tabindex="-1" hidden>
    <p>Your hold lapsed before a card was saved, so the spot was released.</p>
    <a class="button" href="/">Find another spot</a>
  </div>
</section>`;

function paymentRoutes(id, guestEmail) {
  if (!guestEmail) {
    return {
      create: `/create-payment-intent-auth/${id}/`,
      confirm: `/confirm-successful-setup-intent-auth/${id}/`,
    };
  }
  const email = encodeURIComponent(guestEmail);
  return {
    create: `/create-payment-intent-unauth/${id}/${email}/`,
    confirm: `/confirm-successful-setup-intent-unauth/${id}/${email}/`,
  };
}

let stripeScript = null;
function loadStripe(publishableKey) {
  stripeScript ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = STRIPE_JS;
    script.addEventListener("load", resolve);
    script.addEventListener("error", reject);
    document.head.append(script);
  });
  return stripeScript.then(() => window.Stripe(publishableKey));
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function mountPayment(container, reservation, { guestEmail = null } = {}) {
  const config = pageConfig();
  const routes = paymentRoutes(reservation.id, guestEmail);
  const auth = !guestEmail; // a guest is known by id and email; no token goes with it
  container.innerHTML = MARKUP.replaceAll("{p}", `pay-${reservation.id}`);
  const part = (name) => container.querySelector(`[data-${name}]`);
  const form = part("card-form");
  const submit = part("submit");
  let skewMs = 0;
  let ticker = null;
  let finished = false;
  let confirmCard = null; // the card step's submit, once the card form is ready

  function finish(notice, eventName) {
    finished = true;
    clearInterval(ticker);
    part("hold").hidden = true;
    part("card-step").hidden = true;
    part(notice).hidden = false;
    part(notice).focus();
    container.dispatchEvent(new CustomEvent(eventName, { detail: { reservation: reservation.id } }));
  }
  const confirmed = () => finish("confirmed", "payment-confirmed");
  const lapsed = () => finish("lapsed", "hold-lapsed");

  function fail(message) {
    showErrors(form, { detail: message });
  }

  function needsAction(message) {
    const notice = part("needs-action");
    notice.textContent = message;
    notice.hidden = false;
    notice.focus();
  }

  // The hold's countdown, shown every second and announced once a minute.
  function startCountdown() {
    const expires = Date.parse(reservation.hold_expires_at);
    if (Number.isNaN(expires)) {
      part("hold").hidden = true;
      return;
    }
    part("until").textContent = nyTime(reservation.hold_expires_at);
    let announced = null;
    const tick = () => {
      const left = expires - (Date.now() + skewMs);
      if (left <= 0) {
        lapsed();
        return;
      }
      part("left").textContent = countdown(left);
      const minutes = Math.ceil(left / 60000);
      if (minutes !== announced) {
        announced = minutes;
        part("announce").textContent = `${minutes} minute${minutes === 1 ? "" : "s"} left to pay.`;
      }
    };
    tick();
    if (!finished) ticker = setInterval(tick, 1000);
  }

  function noLongerAwaiting(data) {
    if (data.reservation_status === "confirmed") confirmed();
    else if (data.reservation_status === "expired") lapsed();
    else fail(data.detail || "This reservation no longer awaits payment.");
  }

  // After the card step: the server checks with Stripe (or the sandbox) that the card is saved.
  async function confirmWithServer() {
    for (const delay of [0, ...CONFIRM_WAITS_MS]) {
      await wait(delay);
      if (finished) return;
      const answer = await api(routes.confirm, { auth });
      // The page may have moved on meanwhile: its stream heard first and unmounted this step.
      if (finished) return;
      if (answer.status === 204) return confirmed();
      if (answer.status !== 409) return fail(firstError(answer.data));
      const data = answer.data || {};
      if (data.reservation_status) return noLongerAwaiting(data);
      if (data.setup_intent_status === "requires_action") {
        return needsAction("Your bank asks you to confirm this card. Try again to authenticate, or use another card.");
      }
      if (data.setup_intent_status === "requires_payment_method") {
        return fail("The card was not saved. Please try another card.");
      }
    }
    fail("Your card is still being checked. Reload this page in a minute to see whether it was saved.");
  }

  function sandboxCardStep(clientSecret) {
    part("sandbox").hidden = false;
    part("test-cards").replaceChildren(
      ...TEST_CARDS.map(([number, outcome]) => {
        const item = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = number;
        item.append(code, ` ${outcome}`);
        return item;
      }),
    );
    const setupIntentId = clientSecret.split("_secret_")[0];
    const input = form.elements.card_number;
    return async () => {
      const answer = await api(`/sandbox/setup-intents/${setupIntentId}/confirm/`, {
        method: "POST",
        body: { client_secret: clientSecret, card_number: input.value },
        auth: false,
      });
      if (finished) return;
      const intent = answer.data || {};
      if (answer.ok && intent.status === "succeeded") return confirmWithServer();
      if (answer.ok && intent.status === "requires_action") {
        input.value = "";
        return needsAction(
          "This card needs your bank to confirm it (3-D Secure), which the test sandbox cannot show. Please use another card.",
        );
      }
      if (answer.status === 402) {
        return showErrors(form, { card_number: [`${intent.error?.message || "The card was declined."} Please try another card.`] });
      }
      if (answer.status === 409) return confirmWithServer(); // already saved, or the hold is over
      showErrors(form, answer.data);
    };
  }

  async function stripeCardStep(clientSecret) {
    part("stripe").hidden = false;
    const stripe = await loadStripe(config.stripe_publishable_key);
    const elements = stripe.elements({ clientSecret });
    elements.create("payment").mount(part("payment-element"));
    return async () => {
      const { error, setupIntent } = await stripe.confirmSetup({
        elements,
        redirect: "if_required", // cards need no redirect; the bank's check opens in a frame
        confirmParams: { return_url: location.href },
      });
      if (finished) return;
      if (error?.code === "setup_intent_authentication_failure") {
        return needsAction("Your bank's check was not completed. Try again to authenticate, or use another card.");
      }
      if (error) return fail(error.message || "The card was not saved. Please try another card.");
      if (setupIntent.status === "requires_action") return needsAction("Your bank asks you to confirm this card.");
      return confirmWithServer();
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!confirmCard || finished) return;
    clearErrors(form);
    part("needs-action").hidden = true;
    submit.disabled = true;
    try {
      await confirmCard();
    } finally {
      submit.disabled = finished;
    }
  });

  async function start() {
    startCountdown();
    if (finished) return;
    // Back from a bank's page that redirected (not for cards, but Stripe allows it).
    if (new URLSearchParams(location.search).has("setup_intent_client_secret")) {
      return confirmWithServer();
    }
    const created = await api(routes.create, { method: "POST", auth });
    if (finished) return;
    const serverNow = Date.parse(created.headers.get("Date"));
    if (Math.abs(serverNow - Date.now()) > SKEW_TOLERANCE_MS) skewMs = serverNow - Date.now();
    if (created.status === 409) return noLongerAwaiting(created.data || {});
    if (created.status !== 201) return fail(firstError(created.data));
    const secret = created.data.clientSecret;
    try {
      confirmCard =
        config.card_step === "sandbox" ? sandboxCardStep(secret) : await stripeCardStep(secret);
    } catch {
      return fail("The payment form could not be loaded. Check your connection and reload the page.");
    }
    submit.disabled = false;
  }

  start();
  return {
    unmount() {
      finished = true;
      clearInterval(ticker);
      container.replaceChildren();
    },
  };
}
