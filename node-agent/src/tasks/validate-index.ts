/**
 * Validation task kinds -> handlers, for the agent's registry:
 *   for (const [kind, h] of Object.entries(VALIDATE_TASKS)) registerTask(kind, h);
 * Handlers load the validation modules (and database drivers) on first use.
 */
import type { TaskHandler } from './types.ts';

type Handlers = typeof import('./validate-handlers.ts');
const lazy = (name: keyof Handlers): TaskHandler => async (payload, ctx) => (await import('./validate-handlers.ts'))[name](payload, ctx);

export const VALIDATE_TASKS: Record<string, TaskHandler> = {
  'validate.catalog': lazy('validateCatalog'),
  'validate.statistical': lazy('validateStatistical'),
  'validate.key_bounds': lazy('validateKeyBounds'),
  'validate.semantic_buckets': lazy('validateSemanticBuckets'),
  'validate.semantic_rows': lazy('validateSemanticRows'),
  'validate.referential': lazy('validateReferential'),
  'validate.behavioral': lazy('validateBehavioral'),
  'validate.capture_workload': lazy('validateCaptureWorkload'),
};
