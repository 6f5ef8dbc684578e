export { CounterService, counterSpec } from "./service.js";
