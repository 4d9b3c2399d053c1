// Entities (stored users, devices, resources) checked against the schema, and the entities file's shape.
export { checkEntities, storedValue, type CheckedEntity } from './check-entities.js';
export { EntitiesFile, type StoredEntity } from '../schema/entities-file.js';
