import { APPS } from './apps.js'
import { runScenarios } from './scenarios.js'

for (const app of APPS.filter((a) => a.name.startsWith('hono'))) runScenarios(app)
