/** Log in (by email or pseudo) and register, with the server's validation messages by each field. */
import { api, ApiError } from './api.js';
import { COUNTRY_CODES, countryName, flag, guessCountry } from './countries.js';
import { clear, h } from './dom.js';
import { saveSession, type Session } from './session.js';

interface Field {
  name: string;
  label: string;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
}

function field(name: string, label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string): Field & { row: HTMLElement } {
  const id = `f-${name}`;
  input.id = id;
  input.name = name;
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
  const row = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, error);
  return { name, label, input, error, row };
}

function showErrors(fields: Field[], formError: HTMLElement, error: unknown): void {
  for (const f of fields) {
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
  }
  formError.textContent = '';
  if (!(error instanceof ApiError)) {
    formError.textContent = 'Something went wrong. Please try again.';
    return;
  }
  let firstInvalid: Field | undefined;
  for (const detail of error.details) {
    const f = fields.find((candidate) => candidate.name === detail.field);
    if (!f) continue;
    f.error.textContent = `${f.label} ${detail.message}`;
    f.input.setAttribute('aria-invalid', 'true');
    firstInvalid ??= f;
  }
  if (firstInvalid) {
    firstInvalid.input.focus();
  } else if (error.status === 429) {
    formError.textContent = `Too many attempts. Try again in ${Math.ceil((error.retryAfter ?? 60) / 60)} min.`;
  } else {
    formError.textContent = error.message.charAt(0).toUpperCase() + error.message.slice(1) + '.';
  }
}

function card(title: string, form: HTMLFormElement, footer: HTMLElement): HTMLElement {
  return h(
    'section',
    { class: 'auth card', 'aria-labelledby': 'auth-title' },
    h('h1', { id: 'auth-title' }, title),
    h('p', { class: 'tagline' }, 'Talk to a stranger. Rooms vanish after a day.'),
    form,
    footer,
  );
}

export function renderLogin(container: HTMLElement, onSession: (session: Session) => void): void {
  const identifier = field('identifier', 'Email or pseudo', h('input', { type: 'text', autocomplete: 'username', required: true }));
  const password = field('password', 'Password', h('input', { type: 'password', autocomplete: 'current-password', required: true }));
  const formError = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { novalidate: true, 'aria-label': 'Log in' }, identifier.row, password.row, formError, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const { body } = await api.login(identifier.input.value.trim(), password.input.value);
      saveSession(body);
      onSession(body);
    } catch (error) {
      showErrors([identifier, password], formError, error);
      submit.disabled = false;
    }
  });
  clear(container, card('Log in', form, h('p', {}, 'New here? ', h('a', { href: '#/register' }, 'Create an account'))));
  identifier.input.focus();
}

export function renderRegister(container: HTMLElement, onSession: (session: Session) => void): void {
  const countrySelect = h(
    'select',
    { autocomplete: 'country' },
    h('option', { value: '' }, 'Choose your country'),
    ...COUNTRY_CODES.map((code) => h('option', { value: code }, `${flag(code)} ${countryName(code)}`)),
  );
  countrySelect.value = guessCountry();
  const pseudo = field(
    'pseudo',
    'Pseudo',
    h('input', { type: 'text', autocomplete: 'username' }),
    'Letters, digits, _ . - (2–32). Never shown to strangers.',
  );
  const email = field('email', 'Email', h('input', { type: 'email', autocomplete: 'email' }));
  const country = field('country', 'Country', countrySelect, 'Strangers see only your flag.');
  const password = field('password', 'Password', h('input', { type: 'password', autocomplete: 'new-password' }), 'At least 8 characters.');
  const fields = [pseudo, email, country, password];
  const formError = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create account');
  const form = h('form', { novalidate: true, 'aria-label': 'Create an account' }, ...fields.map((f) => f.row), formError, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const { body } = await api.register({
        pseudo: pseudo.input.value,
        email: email.input.value,
        country: country.input.value,
        password: password.input.value,
      });
      saveSession(body);
      onSession(body);
    } catch (error) {
      showErrors(fields, formError, error);
      submit.disabled = false;
    }
  });
  clear(container, card('Create an account', form, h('p', {}, 'Already have one? ', h('a', { href: '#/login' }, 'Log in'))));
  pseudo.input.focus();
}
