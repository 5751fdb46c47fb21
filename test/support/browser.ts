import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, ADMIN_USER } from './control-plane.process';

/** Debian's chromium, headless, as the browser e2e specs drive it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
    timeout: 30_000,
  });
}

/** Signs the page in through the login form (the seeded admin unless told otherwise). */
export async function signIn(
  page: Page,
  baseUrl: string,
  user = ADMIN_USER,
  password = ADMIN_PASSWORD,
): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForURL(`${baseUrl}/`);
}
