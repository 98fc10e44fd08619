/** The dashboard's entry: takes a token from the URL's fragment, then shows the app (or the login form). */
import { createRoot } from 'react-dom/client';
import { StrictMode } from 'react';
import { App } from './App.js';
import { takeToken } from './session.js';
import './styles.css';
import 'uplot/dist/uPlot.min.css';

takeToken();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
