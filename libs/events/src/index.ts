export * from './store/event-store.port';
