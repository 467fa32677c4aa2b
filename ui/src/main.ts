import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { theme } from './lib/state/theme.svelte.js';

theme.apply();
const target = document.getElementById('app');
if (target === null) throw new Error('no #app element');
export default mount(App, { target });
