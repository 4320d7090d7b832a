import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Shell } from '../components/Shell';
import './globals.css';

export const metadata: Metadata = { title: 'Updraft', description: 'Updraft dashboard' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Shell>{children}</Shell>
      </body>
    </html>
  );
}
